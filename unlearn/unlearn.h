// The public header of unl::unlearn: the method, metrics, refinement and neighbour mining.
#pragma once
#include "unlearn/bert_encoder.h"
#include "unlearn/bertscore.h"
#include "unlearn/bleu.h"
#include "unlearn/method.h"
#include "unlearn/metrics.h"
#include "unlearn/neighbours.h"
#include "unlearn/refinement.h"
#include "unlearn/sentence_embedding.h"
