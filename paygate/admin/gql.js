// The GraphQL client of the dashboard: same origin, the admin's bearer token from sessionStorage
// (gone when the tab closes; never in a cookie, so no request is sent with it unasked).

const KEY = "paygate.adminToken";

export const token = {
  get: () => sessionStorage.getItem(KEY) || "",
  set: (value) => sessionStorage.setItem(KEY, value.trim()),
  clear: () => sessionStorage.removeItem(KEY),
};

export class GraphQLError extends Error {}

export async function gql(query, variables = {}) {
  const headers = { "Content-Type": "application/json" };
  if (token.get()) headers.Authorization = `Bearer ${token.get()}`;
  const response = await fetch("/graphql", {
    method: "POST", headers, body: JSON.stringify({ query, variables }),
  });
  let body;
  try {
    body = await response.json();
  } catch {
    throw new GraphQLError(`GraphQL answered ${response.status}`);
  }
  if (body.errors?.length) throw new GraphQLError(body.errors.map((e) => e.message).join("; "));
  if (!response.ok) throw new GraphQLError(`GraphQL answered ${response.status}`);
  return body.data;
}

// A mutation's result is a union of its success type and typed errors (`... on Error`).
export function failure(result) {
  return result && "code" in result && "message" in result ? `${result.code}: ${result.message}` : null;
}
