"""A minimal StatusNotifierWatcher, the side of a tray host that a tray
item talks to: ksni registers with it, and shows its item only if it says a
host is there. Each registered item is appended to the file named by the
first argument. Runs on the session bus (dbus-python, GLib main loop:
Debian's python3-dbus and python3-gi)."""

import sys
import dbus, dbus.service, dbus.mainloop.glib
from gi.repository import GLib

IFACE = "org.kde.StatusNotifierWatcher"
log = sys.argv[1]

class Watcher(dbus.service.Object):
    def __init__(self, bus):
        super().__init__(bus, "/StatusNotifierWatcher")
        self.items = []

    @dbus.service.method(IFACE, in_signature="s", out_signature="", sender_keyword="sender")
    def RegisterStatusNotifierItem(self, service, sender=None):
        # The argument may be a bus name or an object path on the sender.
        item = service if not service.startswith("/") else sender + service
        if item not in self.items:
            self.items.append(item)
        with open(log, "a") as f:
            print(item, sender, flush=True, file=f)
        self.StatusNotifierItemRegistered(item)

    @dbus.service.method(IFACE, in_signature="s", out_signature="")
    def RegisterStatusNotifierHost(self, service):
        pass

    @dbus.service.signal(IFACE, signature="s")
    def StatusNotifierItemRegistered(self, service):
        pass

    def props(self):
        return {
            "IsStatusNotifierHostRegistered": dbus.Boolean(True),
            "ProtocolVersion": dbus.Int32(0),
            "RegisteredStatusNotifierItems": dbus.Array(self.items, signature="s"),
        }

    @dbus.service.method(dbus.PROPERTIES_IFACE, in_signature="ss", out_signature="v")
    def Get(self, iface, name):
        if iface == IFACE and name in self.props():
            return self.props()[name]
        raise dbus.exceptions.DBusException(
            f"no property {iface}.{name}",
            name="org.freedesktop.DBus.Error.UnknownProperty")

    @dbus.service.method(dbus.PROPERTIES_IFACE, in_signature="s", out_signature="a{sv}")
    def GetAll(self, iface):
        return self.props() if iface == IFACE else {}

dbus.mainloop.glib.DBusGMainLoop(set_as_default=True)
bus = dbus.SessionBus()
watcher = Watcher(bus)
name = dbus.service.BusName(IFACE, bus, do_not_queue=True)
GLib.MainLoop().run()
