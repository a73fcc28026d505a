import { gql } from "urql";

export interface CreditCardItem {
  id: string;
  brand: string;
  last4: string;
  expMonth: number;
  expYear: number;
  expired: boolean;
  expiresSoon: boolean;
  description: string;
  isPrimary: boolean;
  source: "STAFF" | "CUSTOMER_FORM" | "PAYMENT";
  createdAt: string;
  display: string;
}

export interface CardRequestItem {
  id: string;
  email: string;
  status: "PENDING" | "OPENED" | "COMPLETED" | "EXPIRED" | "CANCELLED";
  createdAt: string;
  expiresAt: string;
  openedAt: string | null;
  completedAt: string | null;
  cancelledAt: string | null;
  deliveryStatus: "QUEUED" | "SENT" | "FAILED";
  deliveryAttempts: number;
  sentAt: string | null;
  requestedBy: { id: string; name: string } | null;
}

export const CardFields = gql`
  fragment CardFields on CreditCard {
    id
    brand
    last4
    expMonth
    expYear
    expired
    expiresSoon
    description
    isPrimary
    source
    createdAt
    display
  }
`;

export const RequestFields = gql`
  fragment RequestFields on CardRequest {
    id
    email
    status
    createdAt
    expiresAt
    openedAt
    completedAt
    cancelledAt
    deliveryStatus
    deliveryAttempts
    sentAt
    requestedBy {
      id
      name
    }
  }
`;

export interface CustomerCards {
  __typename: "Customer";
  id: string;
  name: string;
  email: string | null;
  canPayByCard: { allowed: boolean; reason: string | null };
  creditCards: CreditCardItem[] | null;
  cardRequests: CardRequestItem[] | null;
}

export const CustomerCardsQuery = gql<{ node: CustomerCards | { __typename: string } | null }, { id: string }>`
  query CustomerCards($id: ID!) {
    node(id: $id) {
      __typename
      ... on Customer {
        id
        name
        email
        canPayByCard {
          allowed
          reason
        }
        creditCards {
          ...CardFields
        }
        cardRequests {
          ...RequestFields
        }
      }
    }
  }
  ${CardFields}
  ${RequestFields}
`;

export const CardGatewayQuery = gql<{ cardGateway: { name: string; hostedFieldsUrl: string } }, Record<string, never>>`
  query CardGateway {
    cardGateway {
      name
      hostedFieldsUrl
    }
  }
`;

export const AddCreditCardMutation = gql<
  { addCreditCard: CreditCardItem },
  { input: { customerId: string; paymentToken: string; description?: string; makePrimary: boolean; allowDuplicate: boolean } }
>`
  mutation AddCreditCard($input: AddCreditCardInput!) {
    addCreditCard(input: $input) {
      ...CardFields
    }
  }
  ${CardFields}
`;

export const EditCreditCardMutation = gql<{ editCreditCard: CreditCardItem }, { id: string; description: string }>`
  mutation EditCreditCard($id: ID!, $description: String!) {
    editCreditCard(id: $id, input: { description: $description }) {
      ...CardFields
    }
  }
  ${CardFields}
`;

export const DeleteCreditCardMutation = gql<{ deleteCreditCard: { deletedId: string; newPrimary: CreditCardItem | null } }, { id: string }>`
  mutation DeleteCreditCard($id: ID!) {
    deleteCreditCard(id: $id) {
      deletedId
      newPrimary {
        ...CardFields
      }
    }
  }
  ${CardFields}
`;

export const SetPrimaryCreditCardMutation = gql<{ setPrimaryCreditCard: CreditCardItem }, { id: string }>`
  mutation SetPrimaryCreditCard($id: ID!) {
    setPrimaryCreditCard(id: $id) {
      ...CardFields
    }
  }
  ${CardFields}
`;

export const RequestCardMutation = gql<{ requestCard: CardRequestItem }, { input: { customerId: string; email: string } }>`
  mutation RequestCard($input: RequestCardInput!) {
    requestCard(input: $input) {
      ...RequestFields
    }
  }
  ${RequestFields}
`;

export const CancelCardRequestMutation = gql<{ cancelCardRequest: CardRequestItem }, { id: string }>`
  mutation CancelCardRequest($id: ID!) {
    cancelCardRequest(id: $id) {
      ...RequestFields
    }
  }
  ${RequestFields}
`;

export const ResendCardRequestMutation = gql<{ resendCardRequest: CardRequestItem }, { id: string }>`
  mutation ResendCardRequest($id: ID!) {
    resendCardRequest(id: $id) {
      ...RequestFields
    }
  }
  ${RequestFields}
`;

export interface CreditCardEvent {
  kind: "ADDED" | "UPDATED" | "DELETED" | "PRIMARY_CHANGED" | "RESYNC";
  /** Where to resume; useLiveEvents passes it back as `after`. */
  cursor: string;
  /** Null for RESYNC. */
  cardId: string | null;
  card: CreditCardItem | null;
}

export const CreditCardsChangedSubscription = gql<
  { creditCardsChanged: CreditCardEvent },
  { customerId: string; after?: string | null }
>`
  subscription CreditCardsChanged($customerId: ID!, $after: String) {
    creditCardsChanged(customerId: $customerId, after: $after) {
      kind
      cursor
      cardId
      card {
        ...CardFields
      }
    }
  }
  ${CardFields}
`;

export interface CardRequestEvent {
  kind: "CHANGED" | "RESYNC";
  /** Where to resume; useLiveEvents passes it back as `after`. */
  cursor: string;
  /** Null for RESYNC. */
  request: CardRequestItem | null;
}

export const CardRequestsChangedSubscription = gql<
  { cardRequestsChanged: CardRequestEvent },
  { customerId: string; after?: string | null }
>`
  subscription CardRequestsChanged($customerId: ID!, $after: String) {
    cardRequestsChanged(customerId: $customerId, after: $after) {
      kind
      cursor
      request {
        ...RequestFields
      }
    }
  }
  ${RequestFields}
`;

export function asCustomerCards(node: { __typename: string } | null | undefined): CustomerCards | null {
  return node && node.__typename === "Customer" ? (node as CustomerCards) : null;
}
