// Package readme holds the test that builds the Go snippets of README.md; it has no
// code of its own.
package readme
