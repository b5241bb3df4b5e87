"""What a window manager sends when the user clicks a window's close
button: WM_DELETE_WINDOW to the X window whose id is the first argument
(python-xlib: Debian's python3-xlib)."""

import sys
from Xlib import X, display, protocol
d = display.Display()
w = d.create_resource_object("window", int(sys.argv[1]))
event = protocol.event.ClientMessage(
    window=w,
    client_type=d.intern_atom("WM_PROTOCOLS"),
    data=(32, [d.intern_atom("WM_DELETE_WINDOW"), X.CurrentTime, 0, 0, 0]),
)
w.send_event(event, event_mask=X.NoEventMask)
d.flush()
