#ifndef PORTPRESSURE_CYAML_SHIM_H
#define PORTPRESSURE_CYAML_SHIM_H
// libyaml's parser. Only the ConfigFile module imports this.
#include <yaml.h>
#endif
