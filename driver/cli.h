// The command-line interface: subcommands run, train, eval, demo, tokenize, logits, generate,
// init, inspect, config. Errors are caught here, logged with the rank, and end every rank.
#pragma once

namespace unl::driver {

/// The whole program. Returns the exit code (0 done, 1 failure, 2 usage error).
int cli_main(int argc, char** argv);

}  // namespace unl::driver
