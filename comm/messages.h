// Structured messages over a Communicator: any Boost.Serialization-able value is packed into a
// binary archive and broadcast or gathered as bytes (plans, per-sample metrics, decisions).
#pragma once

#include <boost/archive/binary_iarchive.hpp>
#include <boost/archive/binary_oarchive.hpp>
#include <boost/serialization/map.hpp>
#include <boost/serialization/string.hpp>
#include <boost/serialization/utility.hpp>
#include <boost/serialization/vector.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "comm/communicator.h"

namespace unl::comm {

template <typename T>
std::vector<char> to_bytes(const T& value) {
  std::ostringstream os(std::ios::binary);
  {
    boost::archive::binary_oarchive ar(os, boost::archive::no_header);
    ar << value;
  }
  const std::string s = os.str();
  return std::vector<char>(s.begin(), s.end());
}

template <typename T>
T from_bytes(const std::vector<char>& bytes) {
  std::istringstream is(std::string(bytes.begin(), bytes.end()), std::ios::binary);
  boost::archive::binary_iarchive ar(is, boost::archive::no_header);
  T value;
  ar >> value;
  return value;
}

/// Root's value ends up on every rank.
template <typename T>
void broadcast_object(Communicator& comm, T& value, int root = 0) {
  std::vector<char> bytes;
  if (comm.rank() == root) bytes = to_bytes(value);
  comm.broadcast(bytes, root);
  if (comm.rank() != root) value = from_bytes<T>(bytes);
}

/// Every rank's value, in rank order, at root (empty elsewhere).
template <typename T>
std::vector<T> gather_objects(Communicator& comm, const T& value, int root = 0) {
  auto blocks = comm.gatherv(to_bytes(value), root);
  std::vector<T> out;
  out.reserve(blocks.size());
  for (const auto& b : blocks) out.push_back(from_bytes<T>(b));
  return out;
}

}  // namespace unl::comm
