/**
 * The cloud providers of a stack: one explicit provider object per (cloud, region), so that edge
 * clusters in several regions of one cloud live in one stack. Credentials come from each
 * provider's own stack configuration (`aws:profile`, `digitalocean:token` …) when set, else from
 * the provider's usual environment variables (`AWS_*`, `DIGITALOCEAN_TOKEN`, `VULTR_API_KEY`,
 * `SCW_*`); the region always comes from the edge cluster, never from `aws:region`.
 */
import * as aws from "@pulumi/aws";
import * as digitalocean from "@pulumi/digitalocean";
import * as pulumi from "@pulumi/pulumi";
import * as scaleway from "@pulumiverse/scaleway";
import * as vultr from "@ediri/vultr";
import { scalewayRegionOf } from "../../components/clouds/scaleway";
import type { Cloud } from "./schema";

/** The provider class of each cloud. */
export interface CloudProviderTypes {
    digitalocean: digitalocean.Provider;
    aws: aws.Provider;
    vultr: vultr.Provider;
    scaleway: scaleway.Provider;
}

/** Name of the provider resource of a (cloud, region): `aws-eu-west-2`, `scaleway-fr-par-1` … */
export function providerName(cloud: Cloud, region: string): string {
    return `${cloud}-${region}`;
}

/** Creates each (cloud, region) provider the first time it is asked for, and hands out the same one afterwards. */
export class CloudProviders {
    private readonly providers = new Map<string, pulumi.ProviderResource>();

    /** The provider of `cloud` in `region`. */
    get<C extends Cloud>(cloud: C, region: string): CloudProviderTypes[C] {
        const name = providerName(cloud, region);
        if (!this.providers.has(name)) this.providers.set(name, createProvider(cloud, region, name));
        return this.providers.get(name) as CloudProviderTypes[C];
    }

    /** Every provider created so far, by resource name. */
    all(): Record<string, pulumi.ProviderResource> {
        return Object.fromEntries(this.providers);
    }
}

function createProvider(cloud: Cloud, region: string, name: string): pulumi.ProviderResource {
    switch (cloud) {
        case "digitalocean": {
            // DigitalOcean's API is global: the region is an argument of each resource.
            const config = new pulumi.Config("digitalocean");
            return new digitalocean.Provider(name, { token: config.getSecret("token") });
        }
        case "aws": {
            const config = new pulumi.Config("aws");
            return new aws.Provider(name, {
                region,
                profile: config.get("profile"),
                accessKey: config.get("accessKey"),
                secretKey: config.getSecret("secretKey"),
            });
        }
        case "vultr": {
            // Vultr's API is global too; one provider per region keeps the layout the same as the others'.
            const config = new pulumi.Config("vultr");
            return new vultr.Provider(name, { apiKey: config.getSecret("apiKey") });
        }
        case "scaleway": {
            const config = new pulumi.Config("scaleway");
            return new scaleway.Provider(name, {
                zone: region,
                region: scalewayRegionOf(region),
                accessKey: config.get("accessKey"),
                secretKey: config.getSecret("secretKey"),
                projectId: config.get("projectId"),
            });
        }
    }
}
