export { InvalidKeyError } from "./invalid-key-error";
export { ObjectIntegrityError } from "./object-integrity-error";
export { ObjectNotFoundError } from "./object-not-found-error";
