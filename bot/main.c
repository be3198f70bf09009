/* main.c: the entry point; the only exit(). Everything else returns an exit code to here. */
#include <stdlib.h>

#include "bot/cli/cli.h"

int main(int argc, char **argv)
{
    int rc = cli_main(argc, argv);
    exit(rc);
}
