// The precompiled header shared by every torch-using target (see unl_use_torch).
#pragma once
#include <torch/torch.h>
