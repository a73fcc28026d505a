// The customers list a user last looked at (filters and page), so "← Customers"
// on a customer goes back to it rather than to an unfiltered list.
let last = "/customers";

export function rememberCustomersList(href: string) {
  last = href;
}

export function lastCustomersList(): string {
  return last;
}
