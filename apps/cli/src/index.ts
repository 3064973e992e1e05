export { EXIT } from "./exit-codes";
export { main } from "./main";
