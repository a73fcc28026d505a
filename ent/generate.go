// Package ent holds the generated data layer; only ent/schema and entc.go are hand-written.
package ent

//go:generate go run -C .. -mod=mod ./ent/entc.go
//go:generate go tool -C .. gqlgen generate
