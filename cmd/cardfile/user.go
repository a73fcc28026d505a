package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"cardfile/internal/app"
	"cardfile/internal/auth"
	"cardfile/internal/demo"
	"cardfile/internal/viewer"
)

func user(ctx context.Context, cfg config, log *slog.Logger, args []string) error {
	if len(args) == 0 || args[0] != "add" {
		return errors.New("usage: cardfile user add -company-id N -email E -name N -role R")
	}
	fs := flag.NewFlagSet("user add", flag.ExitOnError)
	companyID := fs.Int("company-id", 0, "the staff member's company")
	email := fs.String("email", "", "sign-in email")
	name := fs.String("name", "", "display name")
	role := fs.String("role", "", "one of "+strings.Join(viewer.Role("").Values(), ", "))
	_ = fs.Parse(args[1:])
	password := os.Getenv("CARDFILE_PASSWORD")
	if password == "" {
		fmt.Fprint(os.Stderr, "password: ")
		line, err := bufio.NewReader(os.Stdin).ReadString('\n')
		if err != nil && line == "" {
			return fmt.Errorf("reading password: %w", err)
		}
		password = strings.TrimRight(line, "\r\n")
	}
	a, err := open(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer a.Close()
	s, err := a.Auth.CreateStaff(ctx, auth.NewStaff{
		CompanyID: *companyID, Email: *email, Name: *name, Role: viewer.Role(strings.ToUpper(*role)), Password: password,
	})
	if err != nil {
		return err
	}
	fmt.Printf("created staff %d: %s (%s)\n", s.ID, s.Email, s.Role)
	return nil
}

func seedDemo(ctx context.Context, a *app.App) error {
	if a.Sandbox == nil {
		return errors.New("demo data needs the sandbox gateway (CARDFILE_GATEWAY=sandbox)")
	}
	res, err := demo.Seed(ctx, a.DB, a.Auth, a.Sandbox, a.Sealer, a.Now())
	if err != nil {
		return fmt.Errorf("seeding demo data: %w", err)
	}
	verb := "already there"
	if res.Created {
		verb = "created"
	}
	fmt.Printf("\nDemo company %q %s: %d customers, %d cards.\nSign in as:\n", res.CompanyName, verb, res.Customers, res.Cards)
	for _, l := range res.Logins {
		fmt.Printf("  %-20s %-32s %s\n", l.Role, l.Email, l.Password)
	}
	return nil
}
