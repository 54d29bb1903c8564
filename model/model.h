// The public header of unl::model.
#pragma once
#include "model/bert.h"
#include "model/causal_lm.h"
#include "model/config.h"
#include "model/generate.h"
#include "model/hf_io.h"
#include "model/safetensors.h"
#include "model/tokenizer.h"
