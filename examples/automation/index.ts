// The package's stack program, driven from code through the Automation API (the `pulumi` CLI must
// be installed): a DigitalOcean edge cluster of two hosts, with a generated SSH key.
//   ONE_PASSWORD=… PULUMI_CONFIG_PASSPHRASE=… npm start
import { deploy } from "pulumi-opennebula-edge/automation";

async function main(): Promise<void> {
    const result = await deploy({
        stackName: "dev",
        backendUrl: `file://${__dirname}/../.pulumi-state`,   // the state, next to this project
        config: {
            opennebula: {
                endpoint: process.env.ONE_XMLRPC ?? "http://localhost:2633/RPC2",
                frontendSshPublicKey: process.env.ONEADMIN_PUBLIC_KEY ?? "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIReplaceWithTheFrontendOneadminKey oneadmin@frontend",
            },
            edgeClusters: [{ name: "ams", cloud: "digitalocean", region: "ams3", hostCount: 2 }],
        },
        secrets: { onePassword: process.env.ONE_PASSWORD ?? "" },
    });
    console.log("hosts:", JSON.stringify(result.outputs.hostAddresses?.value));
    console.log("SSH key: pulumi stack output --show-secrets sshPrivateKey");
}

main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
});
