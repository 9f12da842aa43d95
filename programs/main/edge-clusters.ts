/**
 * The edge clusters of the configuration: each built by its cloud's definition, with the
 * cloud's explicit provider, into a component that offers the same contract whatever the cloud
 * (its hosts, its public IPs, its overlay nodes, its OpenNebula ids).
 */
import * as pulumi from "@pulumi/pulumi";
import type { CloudEdgeCluster } from "../../components/clouds/base";
import type { CloudContext } from "../../components/clouds/definition";
import { ConfigError } from "../../components/validation";
import type { EdgeClusterSettings } from "./schema";
import { StackConfigError, cloudDefinition } from "./schema";

/** What every edge cluster shares: SSH access, the front-end, and the cluster to join. */
export type SharedClusterArgs = CloudContext["common"];

/** An edge cluster as the program uses it: its configuration and its cloud's component. */
export interface BuiltEdgeCluster {
    /** Its configuration. */
    settings: EdgeClusterSettings;
    /** The cloud's component. */
    component: CloudEdgeCluster;
}

/**
 * What the clouds of one stack share, created on first use: one provider per (cloud, location),
 * and account-wide SSH keys (DigitalOcean refuses the same public key twice in an account, and
 * Scaleway twice in a project), created from the first cluster that needs one so that adding
 * clusters later never replaces them.
 */
export class StackClouds {
    private readonly providers = new Map<string, pulumi.ProviderResource>();
    private readonly sshKeys = new Map<string, pulumi.Output<string>>();

    constructor(private readonly label: string) {}

    /** Every provider created so far, by resource name (`aws-eu-west-2` …). */
    allProviders(): Record<string, pulumi.ProviderResource> {
        return Object.fromEntries(this.providers);
    }

    /** The context a cloud builds an edge cluster in. */
    context(common: SharedClusterArgs): CloudContext {
        return {
            common,
            label: this.label,
            // Credentials come from each provider's own namespace (`aws:profile` …) or its environment variables.
            config: (namespace) => new pulumi.Config(namespace),
            provider: <P extends pulumi.ProviderResource>(name: string, create: () => P): P => {
                if (!this.providers.has(name)) this.providers.set(name, create());
                return this.providers.get(name) as P;
            },
            sharedSshKey: (name, create) => {
                if (!this.sshKeys.has(name)) this.sshKeys.set(name, create());
                return this.sshKeys.get(name)!;
            },
        };
    }
}

/**
 * Builds edge cluster `index` of the configuration.
 *
 * @throws StackConfigError when the cloud's component rejects a value, naming the configuration key.
 */
export function buildEdgeCluster(settings: EdgeClusterSettings, index: number, context: CloudContext): BuiltEdgeCluster {
    try {
        return { settings, component: cloudDefinition(settings.cloud).build(settings.name, settings, context) };
    } catch (error) {
        if (error instanceof ConfigError) throw StackConfigError.of(configKeyOf(error.field, index), error.problem);
        throw error;
    }
}

/** The configuration key of a component argument: shared SSH and front-end arguments are top-level keys. */
export function configKeyOf(field: string, index: number): string {
    if (field === "ssh.privateKey") return "sshPrivateKey";
    if (field.startsWith("ssh.") || field.startsWith("opennebula.")) return field;
    return `edgeClusters[${index}].${field}`;
}
