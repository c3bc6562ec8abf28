/**
 * Errors the gateway answers with. E2B's SDK reads `{ code, message }` from the body and maps the HTTP status to
 * its exceptions (400 InvalidArgument, 401 Authentication, 404 NotFound, 409 conflict, 429 RateLimit, 5xx).
 */
export class ApiError extends Error {
  constructor(
    readonly status: 400 | 401 | 403 | 404 | 409 | 413 | 429 | 500 | 502 | 503,
    message: string,
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
    this.name = 'ApiError';
  }

  body(): { code: number; message: string } {
    return { code: this.status, message: this.message };
  }
}

export const notFound = (what: string): ApiError => new ApiError(404, `${what} not found`);
