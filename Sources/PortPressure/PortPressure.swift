// Module PortPressure.
