package main

import (
	"encoding/json"
	"fmt"
	"strings"
)

// cardFields is what every workload reads of a card, cardfile and raw alike.
const cardFields = `id brand last4 expMonth expYear isPrimary description expired`

// workload is one row of the table: a GraphQL request whose variables are
// drawn per request (a random customer or card of the data set).
type workload struct {
	ID    string // the row id and the raw handler's route
	Name  string
	Query string
	// vars is a Lua expression for the variables object, given c (a random
	// customer index, 0-based) and n (the request's sequence number).
	vars string
	// goVars is the same for the Go client (capture, statement counts).
	goVars func(ds dataset, c, n int) map[string]any
	Write  bool
}

func customerVar(ds dataset, c, _ int) map[string]any {
	return map[string]any{"id": fmt.Sprint(ds.FirstCustomer + c)}
}

// A card that is never expired (j = 0 or 2 of its customer), so setPrimary may pick it.
func cardVar(ds dataset, c, n int) map[string]any {
	return map[string]any{"id": fmt.Sprint(ds.FirstCard + c*cardsPer + 2*(n%2)), "d": fmt.Sprintf("Bench label %d", n)}
}

func pageWorkload(n int) workload {
	return workload{
		ID: fmt.Sprintf("P2-%d", n), Name: fmt.Sprintf("customers(first: %d) with cards", n),
		Query: fmt.Sprintf(`query { customers(first: %d, orderBy: {field: NAME, direction: ASC}) { totalCount edges { node { id code name email creditCards { %s } } } } }`, n, cardFields),
		vars:  `"{}"`, goVars: func(dataset, int, int) map[string]any { return map[string]any{} },
	}
}

var workloads = []workload{
	{
		ID: "P1", Name: "node(id:) customer with its cards",
		Query: `query($id: ID!) { node(id: $id) { ... on Customer { id code name email creditCards { ` + cardFields + ` } } } }`,
		vars:  `'{"id":"' .. (FIRST_CUSTOMER + c) .. '"}'`, goVars: customerVar,
	},
	pageWorkload(10), pageWorkload(50), pageWorkload(100),
	{
		ID: "P3", Name: "selectableCreditCards",
		Query: `query($id: ID!) { selectableCreditCards(customerId: $id) { canPayByCard { allowed reason } defaultCardId cards { card { ` + cardFields + ` } selectable reason isDefault } } }`,
		vars:  `'{"id":"' .. (FIRST_CUSTOMER + c) .. '"}'`, goVars: customerVar,
	},
	{
		ID: "P4-rename", Name: "editCreditCard (rename)", Write: true,
		Query: `mutation($id: ID!, $d: String!) { editCreditCard(id: $id, input: {description: $d}) { ` + cardFields + ` } }`,
		vars:  `'{"id":"' .. (FIRST_CARD + c * 3 + 2 * (n % 2)) .. '","d":"Bench label ' .. n .. '"}'`, goVars: cardVar,
	},
	{
		ID: "P4-primary", Name: "setPrimaryCreditCard", Write: true,
		Query: `mutation($id: ID!) { setPrimaryCreditCard(id: $id) { ` + cardFields + ` } }`,
		vars:  `'{"id":"' .. (FIRST_CARD + c * 3 + 2 * (n % 2)) .. '"}'`,
		goVars: func(ds dataset, c, n int) map[string]any {
			v := cardVar(ds, c, n)
			delete(v, "d")
			return v
		},
	},
}

// body is the JSON request for w with vars.
func (w workload) body(vars map[string]any) []byte {
	b, _ := json.Marshal(map[string]any{"query": w.Query, "variables": vars})
	return b
}

// luaScript is wrk's script for w: POST bodies with fresh variables, the
// bearer token, and a machine-readable summary line at the end.
func (w workload) luaScript(path, token string, ds dataset) string {
	q, _ := json.Marshal(w.Query)
	customers := ds.Customers
	if w.Write {
		// Writes spread over the first 5,000 customers; 16 connections rarely meet on one.
		customers = min(customers, 5000)
	}
	r := strings.NewReplacer(
		"PATH", path, "TOKEN", token, "QUERY", string(q),
		"FIRST_CUSTOMER", fmt.Sprint(ds.FirstCustomer), "FIRST_CARD", fmt.Sprint(ds.FirstCard),
		"CUSTOMERS", fmt.Sprint(customers))
	return r.Replace(strings.Replace(`
wrk.method = "POST"
wrk.path = "PATH"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer TOKEN"
local prefix = [==[{"query":QUERY,"variables":]==]
local n = 0
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) math.randomseed(os.time() + math.floor(os.clock() * 1000000)) end
function request()
  n = n + 1
  local c = math.random(0, CUSTOMERS - 1)
  return wrk.format(nil, nil, nil, prefix .. VARS .. "}")
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('BENCH {"requests":%d,"duration_us":%d,"p50_us":%d,"p99_us":%d,"errors":%d,"non2xx":%d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.connect + e.read + e.write + e.timeout, e.status))
end
`, "VARS", w.vars, 1))
}
