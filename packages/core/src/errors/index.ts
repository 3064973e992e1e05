export { ERROR_CODES, type ErrorCode } from "./error-codes";
export { GatewayError } from "./gateway-error";
