package main

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"reflect"
	"slices"
	"strconv"
	"strings"
)

// The Go types of the generated package, read from its source: the generator needs
// each JSON (or form) name's Go field, whether it is a pointer and whether
// encoding/json omits it when empty.

type kind string

const (
	kindString kind = "string"
	kindFloat  kind = "float64"
	kindBool   kind = "bool"
	kindStruct kind = "struct"
	kindOther  kind = "other" // a named type, resolved through the table
)

type goType struct {
	name    string
	kind    kind
	pointer bool       // a field's type: *T
	ref     string     // kindOther: the name of the package's type it refers to
	fields  []*goField // kindStruct
}

type goField struct {
	name      string
	json      string // the name of the json tag
	form      string // the name of the form tag (query parameters)
	omitempty bool   // the json tag's omitempty
	typ       *goType
}

func (t *goType) field(jsonName string) *goField {
	for _, f := range t.fields {
		if f.json == jsonName {
			return f
		}
	}
	return nil
}

// resolve follows references to the package's named types (type X = Y, or a field
// of type Y) to the type that tells the kind; a pointer stays a pointer.
func (g *generator) resolve(t *goType) *goType {
	for range 10 {
		if t.kind != kindOther || t.ref == "" {
			return t
		}
		next := g.types[t.ref]
		if next == nil {
			return t
		}
		r := *next
		r.pointer = t.pointer
		t = &r
	}
	return t
}

// parseGoTypes reads the type declarations of a generated Go file.
func parseGoTypes(path string) (map[string]*goType, error) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
	if err != nil {
		return nil, err
	}
	types := map[string]*goType{}
	for _, decl := range f.Decls {
		gd, ok := decl.(*ast.GenDecl)
		if !ok || gd.Tok != token.TYPE {
			continue
		}
		for _, spec := range gd.Specs {
			ts := spec.(*ast.TypeSpec)
			t, err := typeOf(ts.Type)
			if err != nil {
				return nil, fmt.Errorf("%s: type %s: %w", path, ts.Name.Name, err)
			}
			if t.kind != kindOther || ts.Assign == 0 {
				// type Locale string is a string named Locale; type X struct{...} a
				// struct named X. An alias (type X = Y) keeps the name of Y.
				t.name = ts.Name.Name
			}
			types[ts.Name.Name] = t
		}
	}
	return types, nil
}

// typeOf describes a type expression of the generated file.
func typeOf(e ast.Expr) (*goType, error) {
	switch e := e.(type) {
	case *ast.Ident:
		switch e.Name {
		case "string":
			return &goType{name: "string", kind: kindString}, nil
		case "float64":
			return &goType{name: "float64", kind: kindFloat}, nil
		case "bool":
			return &goType{name: "bool", kind: kindBool}, nil
		}
		return &goType{name: e.Name, kind: kindOther, ref: e.Name}, nil
	case *ast.StarExpr:
		t, err := typeOf(e.X)
		if err != nil {
			return nil, err
		}
		t.pointer = true
		return t, nil
	case *ast.SelectorExpr:
		if x, ok := e.X.(*ast.Ident); ok && x.Name == "openapi_types" && e.Sel.Name == "Email" {
			// type Email string, whose MarshalJSON refuses a malformed address.
			return &goType{name: "openapi_types.Email", kind: kindString}, nil
		}
		return &goType{name: fmt.Sprintf("%v.%s", e.X, e.Sel.Name), kind: kindOther}, nil
	case *ast.StructType:
		t := &goType{kind: kindStruct}
		for _, fl := range e.Fields.List {
			ft, err := typeOf(fl.Type)
			if err != nil {
				return nil, err
			}
			var tag reflect.StructTag
			if fl.Tag != nil {
				s, err := strconv.Unquote(fl.Tag.Value)
				if err != nil {
					return nil, err
				}
				tag = reflect.StructTag(s)
			}
			jsonName, jsonOpts, _ := strings.Cut(tag.Get("json"), ",")
			formName, _, _ := strings.Cut(tag.Get("form"), ",")
			for _, n := range fl.Names {
				t.fields = append(t.fields, &goField{
					name: n.Name, json: jsonName, form: formName,
					omitempty: slices.Contains(strings.Split(jsonOpts, ","), "omitempty"),
					typ:       ft,
				})
			}
		}
		return t, nil
	}
	return &goType{name: fmt.Sprintf("%T", e), kind: kindOther}, nil
}
