// Type-checked against types generated from a workspace's own document, with its custom fields
// (tests/api/test_generated_clients.py defines vip_code, shoe_size, colour, since, newsletter, tags).
import type { components, paths } from "./api";

type ContactIn = components["schemas"]["ContactIn"];
type Contacts = paths["/api/v1/contacts"];

const created: ContactIn = {
  last_name: "Ñandú",
  custom_fields: {
    vip_code: "Gold",
    shoe_size: 42.5,
    colour: "ochre",
    since: "2020-02-29",
    newsletter: true,
    tags: ["press", "partner"],
  },
};
// @ts-expect-error a custom field the workspace does not have is refused
const unknownField: ContactIn = { last_name: "x", custom_fields: { nope: "x" } };
// @ts-expect-error a select takes one of its choices only
const wrongChoice: ContactIn = { last_name: "x", custom_fields: { colour: "blue" } };

// Typed cf_ filters and custom-field sorts on the list.
const filters: NonNullable<Contacts["get"]["parameters"]["query"]> = {
  cf_colour: "ochre",
  cf_newsletter: true,
  limit: 2,
};
const answer: Contacts["get"]["responses"][200]["content"]["application/json"] = { data: [], next_cursor: null };
function colourOf(contact: components["schemas"]["ContactOut"]): "red" | "ochre" | null | undefined {
  return contact.custom_fields.colour;
}
const problem: Contacts["post"]["responses"][422]["content"]["application/problem+json"] = {
  type: "about:blank",
  title: "Validation failed",
  status: 422,
  detail: "custom_fields: vip_code: Not a valid string.",
  errors: { custom_fields: ["vip_code: Not a valid string."] },
};

export { created, unknownField, wrongChoice, filters, answer, colourOf, problem };
