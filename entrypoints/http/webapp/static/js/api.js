// HTTP calls to Parley with the bearer token, and the error messages people read.

export class ApiError extends Error {
  constructor(status, message, code, retryAfter) {
    super(message);
    this.status = status;
    this.code = code;
    this.retryAfter = retryAfter;
  }
}

export function makeApi(getToken) {
  return async function api(method, path, body) {
    const headers = { Accept: "application/json" };
    const token = getToken();
    if (token) headers.Authorization = `Bearer ${token}`;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    let response;
    try {
      response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    } catch {
      throw new ApiError(0, "The server cannot be reached.", "offline");
    }
    const data = await response.json().catch(() => null);
    if (!response.ok) {
      throw new ApiError(response.status, data?.message || response.statusText, data?.error?.code, response.headers.get("Retry-After"));
    }
    return data && data.success === true && "data" in data ? data.data : data;
  };
}

const WHAT_IT_MEANS = {
  0: "Offline",
  400: "Not understood",
  401: "Not signed in",
  403: "Not allowed",
  404: "Not found",
  409: "Not possible now",
  413: "Too large",
  422: "Invalid",
  429: "Too many requests",
  503: "Service unavailable",
};

export function describe(error) {
  if (!(error instanceof ApiError)) return `Something went wrong: ${error.message}`;
  const title = WHAT_IT_MEANS[error.status] || `Error ${error.status}`;
  const status = error.status ? ` (${error.status})` : "";
  const retry = error.retryAfter ? ` Try again in ${error.retryAfter} s.` : "";
  return `${title}${status}: ${error.message}.${retry}`.replace("..", ".");
}

// A websocket error frame's code, said the way HTTP errors are.
const SOCKET_CODES = { forbidden: 403, not_found: 404, bad_request: 400, rate_limited: 429, too_many_subscriptions: 429 };

export function refusal(what, code, message) {
  const status = SOCKET_CODES[code];
  const title = WHAT_IT_MEANS[status] || "Refused";
  return `${what}: ${title}${status ? ` (${status})` : ""}: ${message || code}.`;
}
