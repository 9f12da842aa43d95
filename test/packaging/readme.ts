/**
 * The README's code blocks: each fenced block with its language and, when the line before it is
 * `<!-- example: <path> -->`, the file it quotes (which it must equal byte for byte).
 */
import * as fs from "fs";
import * as path from "path";
import { REPO } from "./consumer";

/** A fenced code block of the README. */
export interface ReadmeBlock {
    /** The fence's language (`ts`, `sh` …), or "" for none. */
    language: string;
    /** The block's text, with its final newline. */
    text: string;
    /** Line number (1-based) of the opening fence. */
    line: number;
    /** The file it quotes, relative to the repository, when it claims to be one. */
    example?: string;
}

const EXAMPLE_MARKER = /^<!-- example: (\S+) -->$/;

/** Every fenced block of `markdown`, in order. */
export function readmeBlocks(markdown: string): ReadmeBlock[] {
    const lines = markdown.split("\n");
    const blocks: ReadmeBlock[] = [];
    for (let i = 0; i < lines.length; i++) {
        const open = /^```(\S*)$/.exec(lines[i]);
        if (!open) continue;
        const end = lines.findIndex((line, j) => j > i && line === "```");
        if (end < 0) throw new Error(`README line ${i + 1}: the code block is never closed`);
        const marker = i > 0 ? EXAMPLE_MARKER.exec(lines[i - 1]) : null;
        blocks.push({ language: open[1], text: `${lines.slice(i + 1, end).join("\n")}\n`, line: i + 1, example: marker?.[1] });
        i = end;
    }
    return blocks;
}

/** The repository's README, split into blocks. */
export function repositoryReadmeBlocks(): ReadmeBlock[] {
    return readmeBlocks(fs.readFileSync(path.join(REPO, "README.md"), "utf8"));
}
