/**
 * What the stack program needs to know about a cloud, so that it needs nothing per cloud: the
 * cloud's settings (an edge cluster's keys in stack configuration — the same zod schema the
 * component validates its arguments with), whether its public IPs can carry a virtual router, its
 * hosts, and how to build it (its provider from its own configuration namespace, its component).
 * Adding a cloud is one file that exports a definition, and one line in `programs/main/schema.ts`.
 */
import type * as pulumi from "@pulumi/pulumi";
import type { z } from "zod";
import { parseWith } from "../validation/schema";
import type { CloudEdgeCluster, CloudEdgeClusterArgs } from "./base";
import type { HostsSettings, PlannedHost } from "./settings";
import { planHosts } from "./settings";

/** What a program shares with every cloud it builds. */
export interface CloudContext {
    /** SSH key pair, front-end and the cluster to join: the arguments every cloud takes besides its settings and provider. */
    common: Omit<CloudEdgeClusterArgs<pulumi.ProviderResource>, "provider">;
    /** The provider resource named `name`, created by `create` the first time it is asked for. */
    provider<P extends pulumi.ProviderResource>(name: string, create: () => P): P;
    /** A provider's configuration namespace (`aws` → `aws:profile` …): credentials come from there or from the environment. */
    config(namespace: string): pulumi.Config;
    /**
     * The id of an account-wide SSH key named `name`, created by `create` the first time (clouds that
     * refuse one public key twice per account or project share one key between clusters).
     */
    sharedSshKey(name: string, create: () => pulumi.Output<string>): pulumi.Output<string>;
    /** A name for account-wide objects of this stack, e.g. `opennebula-edge-<stack>`. */
    label: string;
}

/** A cloud as the stack program sees it. */
export interface CloudDefinition {
    /** The `cloud` key of an edge cluster in stack configuration, e.g. `aws`. */
    readonly cloud: string;
    /** The cloud's settings: the component's plain arguments, and an edge cluster's keys in stack configuration. */
    readonly settings: z.ZodObject;
    /** Whether its public IPs are addresses a virtual router can hold (DigitalOcean forwards ports instead). */
    readonly routesPublicIps: boolean;
    /** The hosts of settings the schema accepted. */
    hosts(settings: object): PlannedHost[];
    /**
     * The private ranges the edge cluster `name` uses (its VPC or private network, the VMs' NAT or
     * forwarding range), from settings the schema accepted: the overlay and the EVPN network must
     * not overlap them.
     */
    privateRanges(name: string, settings: object): PrivateRange[];
    /** Builds the edge cluster `name` from settings the schema accepted. */
    build(name: string, settings: object, context: CloudContext): CloudEdgeCluster;
}

/** A private range of an edge cluster, and what it is for. */
export interface PrivateRange {
    /** The range, e.g. `10.0.0.0/16`. */
    cidr: string;
    /** What uses it, e.g. `the VPC (and the Elastic IPs' private addresses)`. */
    what: string;
}

/** A {@link CloudDefinition} from its typed parts: `build` receives the settings as the schema returns them. */
export function defineCloud<Settings extends z.ZodObject & z.ZodType<HostsSettings>>(spec: {
    cloud: string;
    settings: Settings;
    routesPublicIps: boolean;
    privateRanges(name: string, settings: z.output<Settings>): PrivateRange[];
    build(name: string, settings: z.output<Settings>, context: CloudContext): CloudEdgeCluster;
}): CloudDefinition {
    return {
        cloud: spec.cloud,
        settings: spec.settings,
        routesPublicIps: spec.routesPublicIps,
        hosts: (settings) => planHosts(parseWith(spec.settings, settings)),
        privateRanges: (name, settings) => spec.privateRanges(name, parseWith(spec.settings, settings)),
        build: (name, settings, context) => spec.build(name, parseWith(spec.settings, settings), context),
    };
}
