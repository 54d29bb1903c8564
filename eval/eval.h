// The public header of unl::eval: evaluation tasks, their runner, statistics and output.
#pragma once
#include "eval/results.h"
#include "eval/runner.h"
#include "eval/stats.h"
#include "eval/task_files.h"
#include "eval/tasks.h"
#include "eval/text_metrics.h"
#include "eval/tofu.h"
