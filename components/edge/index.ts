// The cloud-independent core of an edge cluster.
export * from "./edge-cluster";
export * from "./host-scripts";
export * from "./types";
export { EdgeConfigError, validateEdgeClusterArgs } from "./validation";
export * from "./ssh";
