package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"

	"cardfile/ent/creditcard"
	"cardfile/ent/privacy"
	"cardfile/internal/db"
	"cardfile/internal/db/dbtest"
	"cardfile/internal/textguard"
)

// `cardfile scan` reports a card number that got into a description
// without showing it and exits non-zero; `scan -redact` masks it; a second
// scan finds nothing.
func TestScanCommandFindsAndRedacts(t *testing.T) {
	bin, err := buildBinary()
	if err != nil {
		t.Fatal(err)
	}
	url := dbtest.URL(t)
	d, err := db.Open(url)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	ctx := privacy.DecisionContext(context.Background(), privacy.Allow)
	if err := d.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	co := d.Company.Create().SetName("Blossom").SaveX(ctx)
	cu := d.Customer.Create().SetCompanyID(co.ID).SetCode("C1").SetName("Floral").SaveX(ctx)
	card := d.CreditCard.Create().SetCompanyID(co.ID).SetCustomerID(cu.ID).SetGatewayToken("sealed").
		SetBrand(creditcard.BrandVISA).SetLast4("1111").SetExpMonth(12).SetExpYear(2030).SetSource(creditcard.SourceSTAFF).
		SetDescription("Office ４１１１.１１１１.１１１１.１１１１").SaveX(ctx)

	run := func(args ...string) (string, int) {
		cmd := exec.Command(bin, append([]string{"scan"}, args...)...)
		cmd.Dir = t.TempDir()
		cmd.Env = append(os.Environ(), "CARDFILE_DATABASE_URL="+url)
		var out, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &stderr
		err := cmd.Run()
		var exit *exec.ExitError
		if err != nil && !errors.As(err, &exit) {
			t.Fatal(err)
		}
		all := out.String() + stderr.String()
		for _, digits := range []string{"4111", "１１１１", "411111"} {
			if strings.Contains(all, digits) {
				t.Fatalf("cardfile scan %v printed card digits:\n%s", args, all)
			}
		}
		return out.String(), cmd.ProcessState.ExitCode()
	}

	out, code := run()
	if code == 0 || !strings.Contains(out, "credit_cards row ") || !strings.Contains(out, "column description: Visa") {
		t.Fatalf("scan: exit %d, output:\n%s", code, out)
	}
	if out, code = run("-redact"); code != 0 || !strings.Contains(out, "1 redacted, each audited") {
		t.Fatalf("scan -redact: exit %d, output:\n%s", code, out)
	}
	if got := d.CreditCard.GetX(ctx, card.ID).Description; got != "Office "+textguard.Masked {
		t.Fatalf("description after -redact = %q", got)
	}
	if out, code = run(); code != 0 || !strings.Contains(out, "no card numbers found") {
		t.Fatalf("second scan: exit %d, output:\n%s", code, out)
	}
}
