/**
 * Typed access to a call's parameters, failing the way xmlrpc-c's `paramList::getInt/getString/
 * getBoolean` fail: a `<fault>` with code -501 ("Not enough parameters", "Parameter that is supposed
 * to be integer is not", …). Index 0 is the session string.
 */
import { FaultCode, RpcFault } from "./errors";
import type { RpcValue } from "./wire";

/** The parameters of one call, read the way oned's request handlers read them. */
export class Params {
    constructor(private readonly values: readonly RpcValue[]) {}

    /** How many parameters were sent (session included). */
    get size(): number {
        return this.values.length;
    }

    /** The 32-bit int at `index`; `<i8>` is not an int for xmlrpc-c. */
    int(index: number): number {
        const v = this.at(index);
        if (v.type !== "int") throw typeFault("integer");
        return v.value;
    }

    /** The string at `index`. */
    string(index: number): string {
        const v = this.at(index);
        if (v.type !== "string") throw typeFault("a string");
        return v.value;
    }

    /** The boolean at `index`. */
    boolean(index: number): boolean {
        const v = this.at(index);
        if (v.type !== "boolean") throw new RpcFault(FaultCode.TYPE, "Parameter that is supposed to be boolean is not");
        return v.value;
    }

    /** The int at `index` if that many parameters were sent (type-checked), else `fallback`. */
    optionalInt(index: number, fallback: number): number {
        return this.size > index ? this.int(index) : fallback;
    }

    /** The boolean at `index` if that many parameters were sent (type-checked), else `fallback`. */
    optionalBoolean(index: number, fallback: boolean): boolean {
        return this.size > index ? this.boolean(index) : fallback;
    }

    private at(index: number): RpcValue {
        if (index >= this.values.length) throw new RpcFault(FaultCode.TYPE, "Not enough parameters");
        return this.values[index];
    }
}

function typeFault(what: string): RpcFault {
    return new RpcFault(FaultCode.TYPE, `Parameter that is supposed to be ${what} is not`);
}
