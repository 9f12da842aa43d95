// The cloud-independent core of an edge cluster.
export * from "./edge-cluster";
export * from "./firewall-plan";
export * from "./host-scripts";
export * from "./types";
export { HOST_KEY, hostKey, validateEdgeClusterArgs } from "./validation";
