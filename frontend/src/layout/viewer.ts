import { createContext, useContext } from "react";
import { gql } from "urql";

export interface Viewer {
  id: string;
  name: string;
  email: string;
  role: string;
  canManageCards: boolean;
  company: { name: string; country: string; defaultCurrency: string; cardIntegrationEnabled: boolean };
}

export const ViewerQuery = gql<{ viewer: Viewer | null }, Record<string, never>>`
  query Viewer {
    viewer {
      id
      name
      email
      role
      canManageCards
      company {
        id
        name
        country
        defaultCurrency
        cardIntegrationEnabled
      }
    }
  }
`;

export const ViewerContext = createContext<Viewer | null>(null);

/** The signed-in staff member; only inside the staff shell. */
export function useViewer(): Viewer {
  const v = useContext(ViewerContext);
  if (!v) throw new Error("useViewer outside the staff shell");
  return v;
}

/** The overview is for administrators and credit managers (the server says the same). */
export function canSeeOverview(v: Viewer): boolean {
  return v.role === "ADMIN" || v.role === "CREDIT_MANAGER";
}
