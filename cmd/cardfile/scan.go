package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"

	"cardfile/internal/db"
	"cardfile/internal/scan"
	"cardfile/internal/textguard"
)

// scanCards runs `cardfile scan [-redact]`. It opens the database alone:
// finding stored card numbers needs neither the token key nor the job
// workers the server starts.
func scanCards(ctx context.Context, cfg config, log *slog.Logger, args []string) error {
	fs := flag.NewFlagSet("scan", flag.ExitOnError)
	redact := fs.Bool("redact", false, "replace every card number found with "+textguard.Masked+", audited")
	_ = fs.Parse(args)
	d, err := db.Open(cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Migrate(ctx); err != nil {
		return err
	}
	run := scan.Scan
	if *redact {
		run = scan.Redact
	}
	hits, err := run(ctx, d)
	if err != nil {
		return err
	}
	for _, h := range hits {
		fmt.Println(h)
	}
	switch {
	case len(hits) == 0:
		fmt.Println("no card numbers found")
	case *redact:
		log.Info("card numbers redacted", "values", len(hits))
		fmt.Printf("%d redacted, each audited as card_number.redact\n", len(hits))
	default:
		return fmt.Errorf("%d values hold card numbers; run cardfile scan -redact to mask them", len(hits))
	}
	return nil
}
