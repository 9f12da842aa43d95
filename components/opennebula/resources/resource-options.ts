import * as pulumi from "@pulumi/pulumi";

/** Module part of the dynamic resources' type tokens: `pulumi-nodejs:dynamic/opennebula-edge:<Type>`. */
export const RESOURCE_MODULE = "opennebula-edge";

/** Resource options that keep the connection (and with it the password) secret in state. */
export function keepConnectionSecret(opts: pulumi.CustomResourceOptions | undefined): pulumi.CustomResourceOptions {
    return pulumi.mergeOptions(opts, { additionalSecretOutputs: ["connection"] });
}

/** A template attribute value as a resource input: scalars and vector members may be Outputs. */
export type TemplateArgValue =
    pulumi.Input<string | number | boolean> | pulumi.Input<{ [key: string]: pulumi.Input<string | number | boolean> | undefined }>;

/** Template attributes as a resource input, e.g. `{ REPLICA_HOST: host.name, AR: [{ TYPE: "IP4", … }] }`. */
export type TemplateArgs = { [name: string]: TemplateArgValue | pulumi.Input<TemplateArgValue[]> | undefined };
