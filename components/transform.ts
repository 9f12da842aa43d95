/**
 * Escape hatches, SST-style: every component takes `transform: { <child kind>: Transform }` and
 * applies it to each child of that kind just before creating it. A transform is either a partial
 * set of arguments merged over the component's, or a function that changes the arguments and
 * options in place (it receives the child's resource name, e.g. `edge-host-0`).
 */
import type * as pulumi from "@pulumi/pulumi";

/** Changes the arguments (and options) of one kind of child before it is created. */
export type Transform<Args> = Partial<Args> | ((args: Args, opts: pulumi.CustomResourceOptions, name: string) => void);

/** A resource class: `new Class(name, args, opts)`. */
export type ResourceClass<R, Args> = new (name: string, args: Args, opts?: pulumi.CustomResourceOptions) => R;

/** Creates a child of class `type` after the caller's transform, if any, had its say. */
export function createChild<R, Args extends object>(
    type: ResourceClass<R, Args>,
    name: string,
    args: Args,
    opts: pulumi.CustomResourceOptions,
    transform?: Transform<Args>,
): R {
    if (typeof transform === "function") transform(args, opts, name);
    else if (transform !== undefined) Object.assign(args, transform);
    return new type(name, args, opts);
}
