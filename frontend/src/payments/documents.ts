import { gql } from "urql";
import { CardFields, type CreditCardItem } from "../cards/documents";

export type PaymentScreen = "RECEIVE_PAYMENTS" | "ORDER_ENTRY" | "ACCOUNTS_RECEIVABLE";

export interface SelectableCard {
  card: CreditCardItem;
  selectable: boolean;
  reason: string | null;
  isDefault: boolean;
}

export interface PayingCustomer {
  __typename: "Customer";
  id: string;
  name: string;
  code: string;
  email: string | null;
}

export interface SelectableResult {
  customer: PayingCustomer | { __typename: string } | null;
  selectableCreditCards: {
    canPayByCard: { allowed: boolean; reason: string | null };
    defaultCardId: string | null;
    cards: SelectableCard[];
  };
}

export const SelectableCardsQuery = gql<SelectableResult, { customerId: string; screen: PaymentScreen }>`
  query SelectableCards($customerId: ID!, $screen: PaymentScreen!) {
    customer: node(id: $customerId) {
      __typename
      ... on Customer {
        id
        name
        code
        email
      }
    }
    selectableCreditCards(customerId: $customerId, screen: $screen) {
      canPayByCard {
        allowed
        reason
      }
      defaultCardId
      cards {
        card {
          ...CardFields
        }
        selectable
        reason
        isDefault
      }
    }
  }
  ${CardFields}
`;

export interface PaymentResult {
  id: string;
  amount: string;
  currency: string;
  status: "PENDING" | "APPROVED" | "DECLINED" | "UNKNOWN" | "FAILED";
  screen: PaymentScreen;
  reference: string;
  cardBrand: string | null;
  cardLast4: string | null;
  authCode: string | null;
  gatewayTransactionID: string | null;
  savedCard: boolean;
  createdAt: string;
  creditCard: { id: string; isPrimary: boolean } | null;
}

export interface ApplyPaymentInput {
  customerId: string;
  amount: string;
  screen: PaymentScreen;
  reference?: string;
  creditCardId?: string;
  paymentToken?: string;
  saveCard?: boolean;
  description?: string;
  makePrimary?: boolean;
  idempotencyKey: string;
}

export const ApplyPaymentMutation = gql<{ applyCreditCardPayment: PaymentResult }, { input: ApplyPaymentInput }>`
  mutation ApplyCreditCardPayment($input: ApplyCreditCardPaymentInput!) {
    applyCreditCardPayment(input: $input) {
      id
      amount
      currency
      status
      screen
      reference
      cardBrand
      cardLast4
      authCode
      gatewayTransactionID
      savedCard
      createdAt
      creditCard {
        id
        isPrimary
      }
    }
  }
`;

export interface PickerCustomer {
  id: string;
  code: string;
  name: string;
  email: string | null;
  defaultCurrency: string;
}

export const CustomerSearchQuery = gql<
  { customers: { edges: ({ node: PickerCustomer | null } | null)[] | null } },
  { where: Record<string, unknown>; first: number }
>`
  query CustomerSearch($where: CustomerWhereInput, $first: Int) {
    customers(first: $first, where: $where, orderBy: { field: NAME, direction: ASC }) {
      edges {
        node {
          id
          code
          name
          email
          defaultCurrency
        }
      }
    }
  }
`;
