/* SPDX-License-Identifier: MPL-2.0 */
/*
 * zmq_utils.h -- ferrozmq's copy of a header libzmq keeps for old programs.
 *
 * Everything it used to declare (the stopwatch, zmq_sleep, zmq_threadstart
 * and zmq_threadclose) is declared by zmq.h, which this header includes.
 * New code should include zmq.h alone.
 *
 * Like libzmq's, it says once at compile time that it is deprecated (a
 * "#pragma message" note, not a warning, so -Werror builds still pass);
 * define ZMQ_NO_DEPRECATION_NOTE to silence it.
 */

#ifndef __ZMQ_UTILS_H_INCLUDED__
#define __ZMQ_UTILS_H_INCLUDED__

#include "zmq.h"

#if !defined ZMQ_NO_DEPRECATION_NOTE                                          \
  && (defined __GNUC__ || defined __clang__ || defined _MSC_VER)
#pragma message("zmq_utils.h is deprecated: include zmq.h instead.")
#endif

#endif /* __ZMQ_UTILS_H_INCLUDED__ */
