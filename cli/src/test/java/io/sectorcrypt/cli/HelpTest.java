package io.sectorcrypt.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** Every command, however deep, answers --help, -h and 'help COMMAND...' with its own usage and exit 0. */
class HelpTest {

    private static void walk(CommandLine command, List<String> path, List<List<String>> all) {
        all.add(path);
        command.getSubcommands().forEach((name, sub) -> {
            if (name.equals(sub.getCommandName())) { // aliases are the same command
                List<String> next = new ArrayList<>(path);
                next.add(name);
                walk(sub, next, all);
            }
        });
    }

    private static List<List<String>> commands() {
        List<List<String>> all = new ArrayList<>();
        walk(new CommandLine(new Main()), List.of(), all);
        return all;
    }

    @Test
    void theTreeIsWalkedWhole() {
        List<List<String>> all = commands();
        assertTrue(all.contains(List.of("keys", "audit", "verify")), all.toString());
        assertTrue(all.contains(List.of("xts", "encrypt")), all.toString());
        assertTrue(all.size() >= 22, all.size() + " commands: " + all);
    }

    @Test
    void helpOptionOnEveryCommandPrintsItsUsageAndExitsZero() {
        for (List<String> path : commands()) {
            String usage = "Usage: " + String.join(" ", prepend("sectorcrypt", path)) + " ";
            for (String option : List.of("--help", "-h")) {
                List<String> args = new ArrayList<>(path);
                args.add(option);
                CliRun run = CliRun.of(args.toArray(String[]::new));
                assertEquals(0, run.exitCode(), args + ": " + run.err());
                assertTrue(run.out().startsWith(usage), args + ": " + run.out());
                assertEquals("", run.err(), args.toString());
            }
        }
    }

    @Test
    void helpCommandResolvesNestedCommands() {
        for (List<String> path : commands()) {
            CliRun run = CliRun.of(prepend("help", path).toArray(String[]::new));
            assertEquals(0, run.exitCode(), path + ": " + run.err());
            List<String> args = new ArrayList<>(path);
            args.add("--help");
            assertEquals(CliRun.of(args.toArray(String[]::new)).out(), run.out(), "help " + path);
        }
        CliRun unknown = CliRun.of("help", "keys", "nope");
        assertEquals(2, unknown.exitCode());
        assertTrue(unknown.err().startsWith("'sectorcrypt keys' has no subcommand 'nope'"), unknown.err());
    }

    private static List<String> prepend(String first, List<String> rest) {
        List<String> all = new ArrayList<>(List.of(first));
        all.addAll(rest);
        return all;
    }
}
