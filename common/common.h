// The public header of unl::common: errors, checks, logging and build configuration.
#pragma once
#include "common/config.h"
#include "common/error.h"
#include "common/log.h"
