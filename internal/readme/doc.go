// Package readme checks that the Go of README.md and CONTRIBUTING.md compiles as
// written: the fenced Go snippets, the complete programs, and the Go expressions
// written inline in the text.
package readme
