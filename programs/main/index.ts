/**
 * Entry point of the main stack program (`main: dist/programs/main/` in Pulumi.yaml). Pulumi
 * calls the exported function and makes what it returns the stack outputs.
 */
import { stackProgram } from "./program";

export = stackProgram;
