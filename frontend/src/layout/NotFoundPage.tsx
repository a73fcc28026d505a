import { Link } from "../lib/router";
import { useTitle } from "../lib/title";

export default function NotFoundPage() {
  useTitle("Not found");
  return (
    <div className="page narrow">
      <h1>Page not found</h1>
      <p>There is nothing at this address.</p>
      <p>
        <Link to="/">Go to the start page</Link>
      </p>
    </div>
  );
}
