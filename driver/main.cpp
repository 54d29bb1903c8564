// build/bin/unlearn: parses the command line and hands over to the subcommands (driver/cli.cpp).
// Exit codes: 0 done, 1 failure, 2 usage error.
#include "driver/cli.h"

int main(int argc, char** argv) { return unl::driver::cli_main(argc, argv); }
