#!/bin/bash
# Malformed frames and unknown opcodes from a raw socket client (kcmraw.py):
# unknown opcodes get a well-formed KRB5_FCC_INTERNAL reply on a connection
# that stays usable; malformed frames close only their own connection.
. "$(dirname "$0")/lib.sh"
it_init "bad input on the KCM socket"
daemon_start

ok_kinit alice
ok python3 "$IT_DIR/kcmraw.py" "$SOCK" badinput
daemon_alive
# The daemon and the data are intact.
ok klist
assert_out_contains "Default principal: $(realm_princ alice)"
ok kvno host/localhost
ok python3 "$IT_DIR/kcmraw.py" "$SOCK" badinput
daemon_alive
daemon_stop
it_pass
