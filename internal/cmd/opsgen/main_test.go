package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// miniGen is the shape of what oapi-codegen writes for the mini spec below.
const miniGen = `package gen

type Thing struct {
	Name string ` + "`json:\"name\"`" + `
}

type MakeThingJSONRequestBody = Thing
`

// miniSpec has one operation whose body is a Thing; %s is the schema of its name.
const miniSpec = `openapi: 3.0.3
info: {title: t, version: "1"}
paths:
  /things:
    post:
      operationId: makeThing
      x-idempotent: false
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              required: [name]
              properties:
                name:
                  %s
      responses:
        '201': {description: made}
`

// The generator writes a check for what it supports and refuses, naming it, any
// keyword it would not enforce.
func TestGenerate(t *testing.T) {
	tests := []struct {
		schema string
		want   string // in the code, or in the error when refused
		ok     bool
	}{
		{`{type: string, minLength: 3}`, `stringLength(body.Name) < 3`, true},
		{`{type: string, maxLength: 2}`, `"maximum string length is 2"`, true},
		{`{type: string, enum: [a, b]}`, `case "a", "b":`, true},
		{`{type: string, format: email}`, `func CheckMakeThing(body *gen.Thing) *FieldError`, true},
		{`{type: string, pattern: "^a"}`, "pattern is not supported", false},
		{`{type: string, nullable: true}`, "nullable is not supported", false},
		{`{type: string, format: date}`, `string format "date" is not supported`, false},
		{`{type: string, default: x}`, "default is not supported", false},
		{`{type: number}`, "a schema of type [number] where the Go type needs string", false},
		{`{type: array, items: {type: string}}`, "where the Go type needs string", false},
		{`{oneOf: [{type: string}]}`, "where the Go type needs string", false},
	}
	for _, tt := range tests {
		t.Run(tt.schema, func(t *testing.T) {
			dir := t.TempDir()
			specPath := filepath.Join(dir, "spec.yaml")
			genPath := filepath.Join(dir, "gen.go")
			if err := os.WriteFile(specPath, []byte(strings.Replace(miniSpec, "%s", tt.schema, 1)), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(genPath, []byte(miniGen), 0o600); err != nil {
				t.Fatal(err)
			}
			src, err := generate(specPath, genPath, "ops", "example.com/gen")
			switch {
			case tt.ok && err != nil:
				t.Fatalf("generate: %v", err)
			case tt.ok && !strings.Contains(string(src), tt.want):
				t.Errorf("the generated code lacks %q:\n%s", tt.want, src)
			case !tt.ok && err == nil:
				t.Errorf("generate accepted it:\n%s", src)
			case !tt.ok && !strings.Contains(err.Error(), tt.want):
				t.Errorf("error = %v, want it to say %q", err, tt.want)
			}
		})
	}
}
