import { gql } from "urql";

export interface CustomerWhere {
  or?: CustomerWhere[];
  nameContainsFold?: string;
  codeContainsFold?: string;
  emailContainsFold?: string;
  hasCreditCards?: boolean;
  defaultCurrency?: string;
  active?: boolean;
}

export interface CustomerListItem {
  id: string;
  code: string;
  name: string;
  email: string | null;
  defaultCurrency: string;
  country: string;
  active: boolean;
  creditCards?: { id: string; isPrimary: boolean; expired: boolean; expiresSoon: boolean }[] | null;
}

export interface PageInfo {
  hasNextPage: boolean;
  hasPreviousPage: boolean;
  startCursor: string | null;
  endCursor: string | null;
}

export interface CustomersResult {
  customers: {
    totalCount: number;
    pageInfo: PageInfo;
    edges: ({ node: CustomerListItem | null } | null)[] | null;
  };
}

export interface CustomersVariables {
  first?: number;
  after?: string;
  last?: number;
  before?: string;
  where: CustomerWhere;
  withCards: boolean;
}

// Cards are asked for only when the viewer may see them: for other roles the
// server refuses the whole query when any card is selected.
export const CustomersQuery = gql<CustomersResult, CustomersVariables>`
  query Customers($first: Int, $after: Cursor, $last: Int, $before: Cursor, $where: CustomerWhereInput, $withCards: Boolean!) {
    customers(first: $first, after: $after, last: $last, before: $before, where: $where, orderBy: { field: NAME, direction: ASC }) {
      totalCount
      pageInfo {
        hasNextPage
        hasPreviousPage
        startCursor
        endCursor
      }
      edges {
        node {
          id
          code
          name
          email
          defaultCurrency
          country
          active
          creditCards @include(if: $withCards) {
            id
            isPrimary
            expired
            expiresSoon
          }
        }
      }
    }
  }
`;

/** The search box matches name, code or email, ignoring case. */
export function searchWhere(text: string): CustomerWhere {
  const q = text.trim();
  return q ? { or: [{ nameContainsFold: q }, { codeContainsFold: q }, { emailContainsFold: q }] } : {};
}

export interface CustomerDetail {
  id: string;
  code: string;
  name: string;
  email: string | null;
  phone: string | null;
  defaultCurrency: string;
  country: string;
  active: boolean;
  restrictCardPayments: boolean;
}

export const CustomerQuery = gql<{ node: (CustomerDetail & { __typename: "Customer" }) | { __typename: string } | null }, { id: string }>`
  query Customer($id: ID!) {
    node(id: $id) {
      __typename
      ... on Customer {
        id
        code
        name
        email
        phone
        defaultCurrency
        country
        active
        restrictCardPayments
      }
    }
  }
`;

export function asCustomer(node: { __typename: string } | null | undefined): CustomerDetail | null {
  return node && node.__typename === "Customer" ? (node as unknown as CustomerDetail) : null;
}
