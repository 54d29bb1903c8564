// The public header of unl::unlearn: the method, metrics, refinement and neighbour mining.
#pragma once
#include "unlearn/bleu.h"
#include "unlearn/method.h"
#include "unlearn/metrics.h"
#include "unlearn/neighbours.h"
#include "unlearn/refinement.h"
