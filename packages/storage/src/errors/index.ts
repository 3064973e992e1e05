export { InvalidKeyError } from "./invalid-key-error";
export { ObjectNotFoundError } from "./object-not-found-error";
