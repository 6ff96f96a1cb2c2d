#!/usr/bin/python3
"""Drive python-dbusmock's logind template on a private bus (tests only).

    logind_mock.py ADDRESS wait
    logind_mock.py ADDRESS add ID UID AUDIT LEADER     AddSession + set Audit/Leader
    logind_mock.py ADDRESS new ID                      emit SessionNew(ID, path)
    logind_mock.py ADDRESS removed ID                  emit SessionRemoved(ID, path), drop it

The template hard-codes Audit=0 and Leader=1 and never emits the Manager signals, so the
generic org.freedesktop.DBus.Mock interface does that part."""
import sys
import time

import dbus

MOCK = 'org.freedesktop.DBus.Mock'
NAME = 'org.freedesktop.login1'
PATH = '/org/freedesktop/login1'


def main():
    addr, cmd, args = sys.argv[1], sys.argv[2], sys.argv[3:]
    bus = dbus.bus.BusConnection(addr)
    if cmd == 'wait':
        for _ in range(200):
            if bus.name_has_owner(NAME):
                return 0
            time.sleep(0.05)
        print('logind mock did not appear on the bus', file=sys.stderr)
        return 1
    manager = bus.get_object(NAME, PATH)
    spath = dbus.ObjectPath(f'{PATH}/session/{args[0]}')
    if cmd == 'add':
        sid, uid, audit, leader = args[0], int(args[1]), int(args[2]), int(args[3])
        manager.AddSession(sid, 'seat0', dbus.UInt32(uid), 'nobody', True, dbus_interface=MOCK)
        session = bus.get_object(NAME, spath)
        session.UpdateProperties('org.freedesktop.login1.Session',
                                 {'Audit': dbus.UInt32(audit), 'Leader': dbus.UInt32(leader)},
                                 dbus_interface=MOCK)
    elif cmd == 'new':
        manager.EmitSignal('org.freedesktop.login1.Manager', 'SessionNew', 'so',
                           [args[0], spath], dbus_interface=MOCK)
    elif cmd == 'removed':
        manager.EmitSignal('org.freedesktop.login1.Manager', 'SessionRemoved', 'so',
                           [args[0], spath], dbus_interface=MOCK)
        manager.RemoveObject(spath, dbus_interface=MOCK)
    else:
        print(f'unknown command {cmd}', file=sys.stderr)
        return 2
    return 0


if __name__ == '__main__':
    sys.exit(main())
