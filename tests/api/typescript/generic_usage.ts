// Type-checked against types generated from /api/v1/openapi.json (tests/api/test_generated_clients.py).
// Each @ts-expect-error line must fail to compile, or tsc fails: the checks cannot pass vacuously.
import type { components, paths } from "./api";

type Contact = components["schemas"]["ContactOut"];
type Problem = components["schemas"]["Problem"];
type Contacts = paths["/api/v1/contacts"];
type OneContact = paths["/api/v1/contacts/{record_id}"];

const created: Contacts["post"]["requestBody"]["content"]["application/json"] = {
  first_name: "Zoë",
  last_name: "Ñandú",
  custom_fields: { anything: "the generic document leaves custom fields free-form" },
};
const retried: Contacts["post"]["parameters"]["header"] = { "Idempotency-Key": "5b0f" };
const paging: NonNullable<Contacts["get"]["parameters"]["query"]> = { limit: 2, cursor: "abc" };
// @ts-expect-error the generic placeholder `custom` is gone (no client could send it)
const placeholder: NonNullable<Contacts["get"]["parameters"]["query"]> = { custom: {} };

// Answer fields that are always sent are not optional.
function idOf(contact: Contact): string {
  return contact.id;
}
const page: Contacts["get"]["responses"][200]["content"]["application/json"] = { data: [], next_cursor: null };

// Conditional update: If-Match in, ETag out, 412 as a problem.
const conditional: NonNullable<OneContact["patch"]["parameters"]["header"]> = { "If-Match": '"etag"' };
type ReadHeaders = OneContact["get"]["responses"][200]["headers"];
const etag: ReadHeaders["ETag"] = '"etag"';
const stale: OneContact["patch"]["responses"][412]["content"]["application/problem+json"] = {
  type: "about:blank",
  title: "Precondition Failed",
  status: 412,
  detail: "The record changed since you read it.",
};

// Errors are problem documents with a string detail and field errors on 422.
const missing: OneContact["get"]["responses"][404]["content"]["application/problem+json"] = stale;
const invalid: Contacts["post"]["responses"][422]["content"]["application/problem+json"] = {
  ...stale,
  status: 422,
  errors: { email: ["Not a valid email address."] },
};
const limited: Contacts["get"]["responses"][429]["headers"]["Retry-After"] = 30;
// @ts-expect-error `detail` is a string, not apiflask's old object
const wrong: Problem = { type: "about:blank", title: "x", status: 400, detail: { message: "x" } };

export { created, retried, paging, placeholder, idOf, page, conditional, etag, missing, invalid, limited, wrong };
