#!/bin/sh
# crossdock board: the kernel of the board this plays is wider than its userland.
# KERNEL_MACHINE: set on the line crossdock writes above this one.
if [ "$#" -eq 1 ] && { [ "$1" = -m ] || [ "$1" = --machine ]; }; then echo "$KERNEL_MACHINE"; exit 0; fi
exec /bin/uname "$@"
